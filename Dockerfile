# b2b-idp server image (used by docker-compose.yml).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/b2b-idp b2b-idp && mkdir -p /var/lib/b2b-idp/outbox && chown -R b2b-idp /var/lib/b2b-idp
COPY --from=build /src/target/release/b2b-idp /src/target/release/sample-rp /usr/local/bin/
COPY config /etc/b2b-idp
USER b2b-idp
WORKDIR /var/lib/b2b-idp
EXPOSE 8080
ENTRYPOINT ["b2b-idp", "--config", "/etc/b2b-idp/default.toml"]
CMD ["serve"]
