# syntax=docker/dockerfile:1
# signl4-sentinel container image: a static-ish Rust binary on distroless (glibc, CA
# certificates, no shell, no package manager), running as an unprivileged user.
#
#   docker build -t signl4-sentinel .
#   docker run --rm signl4-sentinel demo --once          # the self-checking demo, no cloud needed
#   docker run -d --name s4s -p 8080:8080 --stop-timeout 30 \
#     -v "$PWD/signl4-sentinel.toml:/etc/signl4-sentinel/signl4-sentinel.toml:ro" \
#     -v s4s-state:/var/lib/signl4-sentinel --env-file signl4-sentinel.env signl4-sentinel
#
#   docker build --build-arg S4S_BUILD_REVISION="$(git rev-parse --short=12 HEAD)" -t signl4-sentinel .
#
# The image keeps the `demo` and `emulator` commands (its documented first run is `demo --once`),
# so it links the built-in fake cloud. An image without them (cargo feature `demo` off):
#   docker build --build-arg S4S_CARGO_FEATURES=--no-default-features -t signl4-sentinel .
#
# The rustc version must be at least what the locked dependencies need (sqlx 0.9: 1.94).
# Base images: pinned by tag here. For a reproducible release, pin them by digest too, e.g.
#   docker buildx imagetools inspect gcr.io/distroless/cc-debian12:nonroot   (→ sha256:…)
#   docker build --build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:… .
# (The digests could not be looked up where this file was written; see docs → Deploying → Docker.)
ARG RUST_VERSION=1.95
ARG BUILD_IMAGE=rust:${RUST_VERSION}-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# .git is not copied in: the revision for --version and s4s_build_info comes as a build argument.
ARG S4S_BUILD_REVISION=unknown
ENV S4S_BUILD_REVISION=${S4S_BUILD_REVISION}
# Empty: the default features (with `demo`); `--no-default-features`: without the fake cloud.
ARG S4S_CARGO_FEATURES=
# sqlite (bundled) and aws-lc (rustls' crypto) are C: gcc and make come with the slim image.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
ENV CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4 \
    CARGO_TERM_COLOR=never
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p signl4-sentinel --bin signl4-sentinel ${S4S_CARGO_FEATURES} \
 && install -D -m 0755 target/release/signl4-sentinel /out/signl4-sentinel \
 && install -d -m 0750 -o 65532 -g 65532 /out/state

FROM ${RUNTIME_IMAGE}
ARG S4S_BUILD_REVISION=unknown
ARG S4S_VERSION=0.1.0
LABEL org.opencontainers.image.title="signl4-sentinel" \
      org.opencontainers.image.description="Microsoft Defender / Sentinel alerts to SIGNL4 mobile alerting, two-way" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${S4S_VERSION}" \
      org.opencontainers.image.revision="${S4S_BUILD_REVISION}" \
      org.opencontainers.image.documentation="docs/ (mdBook) in the repository"
COPY --from=build /out/signl4-sentinel /usr/local/bin/signl4-sentinel
COPY --from=build --chown=65532:65532 /out/state /var/lib/signl4-sentinel
# The configuration is mounted at /etc/signl4-sentinel/signl4-sentinel.toml; secrets come as
# environment variables (env:NAME) or mounted files (file:/path). These override the file:
ENV SIGNL4_SENTINEL_CONFIG=/etc/signl4-sentinel/signl4-sentinel.toml \
    SIGNL4_SENTINEL__SERVER__LISTEN=0.0.0.0:8080 \
    SIGNL4_SENTINEL__STORAGE__PATH=/var/lib/signl4-sentinel/state.db \
    SIGNL4_SENTINEL_LOG_FORMAT=json
USER 65532:65532
VOLUME ["/var/lib/signl4-sentinel"]
EXPOSE 8080
# SIGTERM: in-flight deliveries finish within delivery.shutdown_timeout (20 s); give the
# container at least 30 s (docker stop -t 30, --stop-timeout 30, terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# The binary asks its own /healthz (no shell, no busybox in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/signl4-sentinel", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/signl4-sentinel"]
CMD ["run"]
