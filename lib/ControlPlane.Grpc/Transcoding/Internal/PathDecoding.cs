using System.Text;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Percent-decoding of path values, per google/api/http.proto: a single-segment variable is fully
/// decoded (so <c>a%2Fb</c> is the value "a/b"); a multi-segment variable leaves the RFC 6570
/// reserved characters encoded (so its '/' separators stay distinguishable from an encoded "%2F").
/// Query parameter names and values are fully decoded too, '+' being a space. Decoded bytes must be
/// UTF-8: a malformed escape or bytes that are not UTF-8 are refused, never taken as written or replaced.
/// </summary>
internal static class PathDecoding
{
    // RFC 6570 section 1.5: reserved = gen-delims / sub-delims.
    private const string Reserved = ":/?#[]@!$&'()*+,;=";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes a variable's raw text; false for a malformed escape or bytes that are not UTF-8.</summary>
    public static bool TryDecode(string raw, bool keepReserved, out string value)
    {
        value = raw;
        if (!raw.Contains('%', StringComparison.Ordinal))
        {
            return true;
        }
        var bytes = new List<byte>(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c != '%')
            {
                AppendUtf8(bytes, c);
                continue;
            }
            if (i + 2 >= raw.Length || !IsHex(raw[i + 1]) || !IsHex(raw[i + 2]))
            {
                return false;
            }
            var b = (byte)((HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]));
            if (keepReserved && b < 0x80 && Reserved.Contains((char)b, StringComparison.Ordinal))
            {
                bytes.Add((byte)'%');
                bytes.Add((byte)raw[i + 1]);
                bytes.Add((byte)raw[i + 2]);
            }
            else
            {
                bytes.Add(b);
            }
            i += 2;
        }
        try
        {
            value = StrictUtf8.GetString(bytes.ToArray());
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decodes a query parameter's name or value as HTML form data (application/x-www-form-urlencoded,
    /// as <c>QueryStringEnumerable</c> reads it): '+' is a space, then escapes are fully decoded.
    /// False for a malformed escape or bytes that are not UTF-8.
    /// </summary>
    public static bool TryDecodeQueryComponent(ReadOnlySpan<char> raw, out string value) =>
        TryDecode(raw.ToString().Replace('+', ' '), keepReserved: false, out value);

    /// <summary>Fully decoded text for comparisons with literals; malformed input compares as written.</summary>
    public static string DecodeLenient(string raw) => TryDecode(raw, keepReserved: false, out var value) ? value : raw;

    private static void AppendUtf8(List<byte> bytes, char c)
    {
        if (c < 0x80)
        {
            bytes.Add((byte)c);
            return;
        }
        Span<byte> buffer = stackalloc byte[4];
        var n = Encoding.UTF8.GetBytes([c], buffer);
        for (var i = 0; i < n; i++)
        {
            bytes.Add(buffer[i]);
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
