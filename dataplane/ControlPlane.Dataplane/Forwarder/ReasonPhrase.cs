using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// An instance's own reason phrase (<c>HTTP/1.1 429 Slow Down</c>) reaches an HTTP/1.1 client as the
/// instance sent it, as nginx relays it; the standard phrase is left to Kestrel, so the common case
/// allocates nothing. RFC 9112 §4 allows HTAB, SP, VCHAR and obs-text in a reason phrase; only the
/// ASCII ones are relayed (Kestrel writes the status line in ASCII), and a phrase holding anything
/// else gets the standard one. HTTP/2 has no reason phrase (RFC 9113 §8.3.2): Kestrel writes none.
/// </summary>
internal static class ReasonPhrase
{
    private static readonly SearchValues<byte> RelayedBytes =
        SearchValues.Create([(byte)'\t', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b)]);

    private static readonly SearchValues<char> RelayedChars =
        SearchValues.Create(['\t', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c)]);

    /// <summary>The phrase to relay with <paramref name="status"/> as its status line's bytes hold it, or null: none, the standard one, or one not relayed.</summary>
    public static string? Custom(int status, ReadOnlySpan<byte> phrase) =>
        phrase.IsEmpty || phrase.ContainsAnyExcept(RelayedBytes) || Ascii.Equals(phrase, ReasonPhrases.GetReasonPhrase(status))
            ? null
            : Encoding.ASCII.GetString(phrase);

    /// <summary>The phrase to relay with <paramref name="status"/> as HttpClient read it, or null (as above).</summary>
    public static string? Custom(int status, string? phrase) =>
        string.IsNullOrEmpty(phrase) || phrase.AsSpan().ContainsAnyExcept(RelayedChars) || phrase == ReasonPhrases.GetReasonPhrase(status)
            ? null
            : phrase;

    /// <summary>Sets the client's reason phrase to <paramref name="phrase"/> when there is one to relay.</summary>
    public static void Relay(HttpContext http, string? phrase)
    {
        if (phrase is not null)
        {
            http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase = phrase;
        }
    }
}
