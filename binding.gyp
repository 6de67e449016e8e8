# node-gyp build of the same addon CMakeLists.txt describes: same sources (scripts/native-sources.mjs),
# same LibTorch (scripts/libtorch.mjs). prebuildify drives this file.
{
  "targets": [
    {
      "target_name": "spottune3d",
      "sources": ["<!@(node scripts/native-sources.mjs)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node scripts/libtorch.mjs --include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "SPOTTUNE_BUILD_SYSTEM=\"node-gyp\"",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/libtorch.mjs --abi)"
      ],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter"],
      "libraries": ["<!@(node scripts/libtorch.mjs --ldflags)"],
      "ldflags": ["-Wl,-rpath,'$$ORIGIN'"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      }
    }
  ]
}
