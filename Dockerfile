# fuxi as an image: the daemon and the host tools it calls. It is also the root filesystem of the
# managed (v2) plugin (scripts/plugin/bundle.mjs, `npm run plugin`).
#
#   docker build -t fuxi .
#   docker build --build-arg BASE=my-registry/node:20-bookworm-slim -t fuxi .
#
# BASE must be a Debian 12 (bookworm) root with Node.js >= 20.19 and npm at /usr/local/bin (as the
# official node images have them). The test suite, which reaches no image registry, builds one
# with debootstrap and the machine's own Node (test/support/image-base.ts).
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/
COPY src src
# One bundle per entry point: the runtime stage needs dist/ and bin/, not node_modules.
RUN node scripts/build.mjs

FROM ${BASE}
# The host tools fuxi runs: loop devices, blkid and mount (util-linux, mount), mkfs for ext4 and
# xfs, iscsiadm (open-iscsi; the iSCSI sessions are the host's iscsid's), mount.nfs (nfs-common),
# mount.ceph and rbd (ceph-common), modprobe (kmod).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      util-linux mount e2fsprogs xfsprogs open-iscsi nfs-common ceph-common kmod \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist /opt/fuxi/dist
COPY --from=build /src/package.json /opt/fuxi/package.json
COPY bin /opt/fuxi/bin
RUN ln -s /opt/fuxi/bin/fuxi-server /usr/local/bin/fuxi-server \
 && ln -s /opt/fuxi/bin/fuxi /usr/local/bin/fuxi \
 && mkdir -p /etc/fuxi /var/lib/fuxi /fuxi/data /run/docker/plugins
ENTRYPOINT ["/opt/fuxi/bin/fuxi-server"]
