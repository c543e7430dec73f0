{
  # Built by `npm run build:native` (scripts/build-native.sh): node-gyp with --nodedir
  # pointing at the installed Node headers, so no download is needed.
  "targets": [
    {
      "target_name": "corral_native",
      "sources": ["addon.c", "relay.c", "proxy_header.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
