# changegate in a container: built with the Go image, run from scratch.
# The build stage downloads the Go modules; the image needs no network at
# run time (static binary, time zones and CA roots inside). See
# docs/deploy.md.
#
#   docker build -t changegate .
#   docker run -d --name changegate -p 127.0.0.1:8888:8888 -v changegate-data:/data \
#     -e CHANGEGATE_USERID_SECRET=... changegate

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# The context includes .git, so that the build records its commit
# (`changegate version`, /v1/__version__).
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/changegate ./cmd/changegate \
	&& mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/changegate /usr/bin/changegate
COPY --from=build --chown=65532:65532 /out/data /data
COPY deploy/Caddyfile.container /etc/changegate/Caddyfile
USER 65532:65532
# Caddy's own data (autosaved config, certificates if any) goes with the store.
ENV XDG_DATA_HOME=/data XDG_CONFIG_HOME=/data
VOLUME /data
EXPOSE 8888
ENTRYPOINT ["/usr/bin/changegate"]
CMD ["run", "--config", "/etc/changegate/Caddyfile"]
