# syntax=docker/dockerfile:1
# connector-proxy as a sidecar: a static binary on a distroless base, run as
# a non-root user, state in /data (mount a volume there so that mappings and
# pending notifications survive the container).

FROM golang:1.26-bookworm AS build
# Transcript fonts (read at run time, never committed): DejaVu Sans for Latin,
# Greek, Cyrillic, Arabic and Hebrew; Droid Sans Fallback for Chinese,
# Japanese and Korean (one 4 MB TrueType file; Noto CJK is OpenType/CFF in
# collections, which the PDF writer cannot embed, and ten times the size);
# Lohit for Devanagari.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends fonts-dejavu-core fonts-droid-fallback fonts-lohit-deva >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOFLAGS=-trimpath go build -ldflags='-s -w' -o /out/connector-proxy ./cmd/connector-proxy \
 && CGO_ENABLED=0 GOFLAGS=-trimpath go build -ldflags='-s -w' -o /out/engagement-sim ./cmd/engagement-sim \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/connector-proxy /out/engagement-sim /usr/local/bin/
COPY --from=build /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf /usr/share/fonts/truetype/dejavu/
COPY --from=build /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf /usr/share/fonts/truetype/droid/
COPY --from=build /usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf /usr/share/fonts/truetype/lohit-devanagari/
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
WORKDIR /data
ENV CONNECTOR_PROXY_DATA_DIR=/data
# 8080: both client faces and the AXP webhook; 9090: /metrics /healthz /readyz.
EXPOSE 8080 9090
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/connector-proxy"]
