# go-httpbin, a third-party HTTP service, as a stand-in for a user's own service in the tests.
# The context is the cache folder build-httpbin.sh fills with one static binary per release.
FROM scratch
ARG VERSION
COPY ${VERSION}/go-httpbin /go-httpbin
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/go-httpbin"]
