# syntax=docker/dockerfile:1.7
# One image for every Pasokh service: the binaries differ only in their name,
# so the chart picks one with `command`. Build:
#   docker build -t registry.mcls.gov.ir/pasokh/pasokh:0.1.0 .
# Nothing in the final stage can compile, fetch or open a shell.

# --- build -------------------------------------------------------------------
FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
# librdkafka is built from source by rdkafka-sys (make, a C++ compiler, zlib, OpenSSL for TLS to Kafka);
# protoc comes vendored
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make pkg-config zlib1g-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
# zlib linked statically: the distroless runtime has libssl3 and libc but no libz.so.1
ENV LIBZ_SYS_STATIC=1
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        --bin pasokh-intake --bin pasokh-routing --bin pasokh-notification --bin pasokh-reporting --bin pasokhctl \
 && mkdir -p /out \
 && cp target/release/pasokh-intake target/release/pasokh-routing target/release/pasokh-notification \
       target/release/pasokh-reporting target/release/pasokhctl /out/

# --- runtime -----------------------------------------------------------------
# distroless/cc: glibc, libgcc, libssl3, CA certificates and tzdata; no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/ /usr/local/bin/
# 65532 is distroless's `nonroot`; the chart also sets runAsNonRoot and a read-only root filesystem:
# the services write nothing to disk (logs go to stdout, state to PostgreSQL and Kafka).
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/pasokh-intake"]
CMD ["serve"]
