/* stb_impl.c - stb_image and stb_image_resize compiled into the fuzz targets
   (from the same Debian headers as libstb), so that the decoders run
   instrumented: with coverage for the fuzzer and under AddressSanitizer. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_resize.h>
