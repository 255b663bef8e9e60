# trainyard serve with its agent, for docker-compose.yml. Workers run as local processes inside this container.
ARG SWIFT_VERSION=6.3
FROM swift:${SWIFT_VERSION}-noble AS build
WORKDIR /src
# The whole checkout (.dockerignore leaves out build outputs): SwiftPM wants every declared target's directory, tests
# included, and the targets' openapi.yaml links point into openapi/.
COPY . .
RUN swift build -c release --product trainyard && swift build -c release --product trainyard-server \
    && swift build -c release --product trainyard-agent && mkdir /out \
    && cp "$(swift build -c release --show-bin-path)/trainyard" "$(swift build -c release --show-bin-path)/trainyard-server" \
       "$(swift build -c release --show-bin-path)/trainyard-agent" /out/

FROM swift:${SWIFT_VERSION}-noble-slim
# python3 runs `.py` entry points; tar packs and unpacks model.tar.gz, output.tar.gz and source archives.
RUN apt-get update && apt-get install -y --no-install-recommends python3 tar gzip ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/trainyard trainyard
COPY --from=build /out/trainyard /out/trainyard-server /out/trainyard-agent /usr/local/bin/
USER trainyard
WORKDIR /var/lib/trainyard
ENV TRAINYARD_DATA_DIR=/var/lib/trainyard TRAINYARD_HOST=0.0.0.0 TRAINYARD_PORT=8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/trainyard"]
CMD ["serve"]
