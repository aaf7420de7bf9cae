// zxing.cpp - the C shim over zxing-cpp 1.4 (scanners/zxing.h): one
// ReadBarcodes call on a grey image, its results copied into C structs.
//
// The only C++ in the project, kept small: no C++ type crosses the API, and
// every exception (std::bad_alloc and whatever zxing-cpp throws) is caught
// here and turned into a return code with a message.
//
// One symbol a call. Debian's libzxing 1.4 is built with assertions on, and
// ReadBarcodes aborts the process (Result.cpp:140, "lineCount() == 1") when
// it compares two results of the same 1D code, which it does when a code is
// found again in another pass (the 90-degree turn, a downscaled layer):
// zxing-cpp issue #740, fixed after 1.4. An abort cannot be caught. With at
// most one symbol wanted, ReadBarcodes returns on the first one and never
// compares results, which is what ReadBarcode does too.
#define ZX_USE_UTF8 1 // Result::text() as UTF-8 std::string (zxing-cpp 1.4)

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "ZXing/ReadBarcode.h"

#include "scanners/zxing.h"

struct scan_zx {
    ZXing::DecodeHints hints;
};

namespace {

struct format_map {
    unsigned bit;
    ZXing::BarcodeFormat zx;
    const char *name; // ZBar's symbology name, so both decoders read alike
};

const format_map formats_map[] = {
    {SCAN_ZX_CODE128, ZXing::BarcodeFormat::Code128, "CODE-128"},
    {SCAN_ZX_CODE39, ZXing::BarcodeFormat::Code39, "CODE-39"},
    {SCAN_ZX_EAN13, ZXing::BarcodeFormat::EAN13, "EAN-13"},
    {SCAN_ZX_I25, ZXing::BarcodeFormat::ITF, "I2/5"},
    {SCAN_ZX_QR, ZXing::BarcodeFormat::QRCode, "QR-Code"},
};

const char *format_name(ZXing::BarcodeFormat f)
{
    for (const auto &m : formats_map)
        if (m.zx == f)
            return m.name;
    return "?";
}

} // namespace

extern "C" int scan_zx_new(unsigned formats, unsigned flags, struct scan_zx **out, struct err *e)
{
    *out = nullptr;
    if (formats == 0 || (formats & ~SCAN_ZX_ALL))
        return err_set(e, ERR_CONFIG, "zxing: no or unknown formats 0x%x", formats);
    try {
        ZXing::BarcodeFormats zf;
        for (const auto &m : formats_map)
            if (formats & m.bit)
                zf |= m.zx;
        auto *zx = new scan_zx;
        zx->hints.setFormats(zf)
            .setTryHarder(flags & SCAN_ZX_TRY_HARDER)
            .setTryRotate(flags & SCAN_ZX_TRY_ROTATE)
            .setTryDownscale(flags & SCAN_ZX_TRY_DOWNSCALE)
            .setEanAddOnSymbol(ZXing::EanAddOnSymbol::Ignore)
            .setMaxNumberOfSymbols(1);
        *out = zx;
        return 0;
    } catch (const std::bad_alloc &) {
        return err_set(e, -ENOMEM, "zxing: no memory");
    } catch (const std::exception &x) {
        return err_set(e, ERR_STATE, "zxing: %s", x.what());
    } catch (...) {
        return err_set(e, ERR_STATE, "zxing: unknown exception");
    }
}

extern "C" void scan_zx_free(struct scan_zx *zx)
{
    delete zx;
}

extern "C" int scan_zx_read(struct scan_zx *zx, const uint8_t *data, int w, int h, size_t stride,
                            struct scan_zx_symbol *out, size_t max, size_t *n, struct err *e)
{
    *n = 0;
    if (!zx || !data || w <= 0 || h <= 0 || stride < (size_t)w || stride > (size_t)INT32_MAX ||
        (max > 0 && !out))
        return err_set(e, -EINVAL, "zxing: bad image %dx%d, stride %zu", w, h, stride);
    try {
        ZXing::ImageView view(data, w, h, ZXing::ImageFormat::Lum, (int)stride, 1);
        ZXing::Results results = ZXing::ReadBarcodes(view, zx->hints);
        for (const auto &r : results) {
            if (!r.isValid())
                continue;
            if (*n >= max)
                break;
            struct scan_zx_symbol *s = &out[(*n)++];
            std::memset(s, 0, sizeof(*s));
            std::snprintf(s->type, sizeof(s->type), "%s", format_name(r.format()));
            const std::string text = r.text();
            s->len = text.size();
            size_t keep = text.size() < SCAN_ZX_TEXT_MAX ? text.size() : SCAN_ZX_TEXT_MAX;
            std::memcpy(s->text, text.data(), keep);
            s->text[keep] = '\0';
            s->orientation_deg = r.orientation();
        }
        return 0;
    } catch (const std::bad_alloc &) {
        return err_set(e, -ENOMEM, "zxing: no memory for a %dx%d image", w, h);
    } catch (const std::exception &x) {
        return err_set(e, ERR_STATE, "zxing: %s", x.what());
    } catch (...) {
        return err_set(e, ERR_STATE, "zxing: unknown exception");
    }
}
