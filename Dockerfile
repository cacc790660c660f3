# syntax=docker/dockerfile:1
# connector-proxy as a sidecar: a static binary on a distroless base, run as
# a non-root user, state in /data (mount a volume there so that mappings and
# pending notifications survive the container).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOFLAGS=-trimpath go build -ldflags='-s -w' -o /out/connector-proxy ./cmd/connector-proxy \
 && CGO_ENABLED=0 GOFLAGS=-trimpath go build -ldflags='-s -w' -o /out/engagement-sim ./cmd/engagement-sim \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/connector-proxy /out/engagement-sim /usr/local/bin/
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
WORKDIR /data
ENV CONNECTOR_PROXY_DATA_DIR=/data
# 8080: both client faces and the AXP webhook; 9090: /metrics /healthz /readyz.
EXPOSE 8080 9090
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/connector-proxy"]
