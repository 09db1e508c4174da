// Package observability holds no code for the services: its tests check the suite's Grafana
// dashboards (dashboards/*.json) and its Prometheus configuration (deploy/prometheus) against
// what the services register, and check that one request through the suite's instrumented
// clients and servers makes one trace.
//
// The tests read the dashboards and the service sources through relative paths
// (../../dashboards, ../../services, ../../shared), so they run from this directory, as go test
// does.
package observability
