package receiver

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/web"
)

// KillForwarder passes kill requests on to the nodekiller's POST /kill.
type KillForwarder struct {
	URL    string              // nodekiller base URL; empty means kills cannot be forwarded
	Client *receiverapi.Client // its Timeout bounds a forwarded kill
}

// Kill asks the nodekiller to kill a node by method. The nodekiller's refusal (4xx) is a
// *httpclient.StatusError carrying its answer, to be passed on as it came; every other
// failure is a *web.StatusError.
func (k *KillForwarder) Kill(ctx context.Context, method chaos.KillMethod) (*receiverapi.KillAnswer, error) {
	if k.URL == "" {
		return nil, web.Errorf(http.StatusServiceUnavailable, "kills cannot be forwarded: NODEKILLER_URL is not set")
	}
	a, err := k.Client.Kill(ctx, k.URL, receiverapi.KillRequest{Method: string(method)})
	var se *httpclient.StatusError
	var ue *url.Error
	switch {
	case err == nil:
		return &a, nil
	case refusal(err):
		return nil, err
	case errors.As(err, &se):
		return nil, web.Errorf(http.StatusBadGateway, "nodekiller %v", err)
	case errors.As(err, &ue):
		return nil, web.Errorf(http.StatusBadGateway, "nodekiller unreachable: %v", err)
	}
	return nil, web.Errorf(http.StatusBadGateway, "nodekiller's answer: %v", err)
}

// refusal reports whether err is the nodekiller's own 4xx.
func refusal(err error) bool {
	var se *httpclient.StatusError
	return errors.As(err, &se) && se.Status/100 == 4
}
