using System.Text;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// How non-ASCII bytes in field values cross the node, so that each side gets the bytes the other
/// sent (RFC 9110 §5.5 allows them as obs-text; nginx and Envoy pass them on untouched).
/// </summary>
internal static class HeaderEncodings
{
    /// <summary>
    /// Request values: Kestrel reads a client's non-ASCII bytes as UTF-8 (and refuses values that are
    /// not valid UTF-8), so the node writes them upstream as UTF-8, the bytes the client sent. A
    /// sticky value is then the same string the route preview hashes.
    /// </summary>
    public static readonly Encoding Request = Encoding.UTF8;

    /// <summary>
    /// Response values: read from the instance one char per byte and written to the client the same way
    /// (Kestrel's <c>ResponseHeaderEncodingSelector</c>), whatever encoding the instance meant.
    /// </summary>
    public static readonly Encoding Response = Encoding.Latin1;
}
