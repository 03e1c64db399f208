namespace ControlPlane.Dataplane;

/// <summary>The "Dataplane" configuration section: listeners, TLS and connection limits.</summary>
public sealed class DataplaneOptions
{
    public const string Section = "Dataplane";

    /// <summary>
    /// The edge proxy and ops port: HTTP/1.1 in cleartext; with TLS, HTTP/1.1 and HTTP/2 by ALPN.
    /// Default 8080. Listeners are created in this order: this one first.
    /// </summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>
    /// Cleartext HTTP/2 (h2c with prior knowledge) for gRPC clients and HTTP/2 callers: Kestrel
    /// speaks h2c only on an HTTP/2-only endpoint. Default 8081; 0 picks a free port; -1 turns it off.
    /// Unused (off) with TLS, where <see cref="HttpPort"/> serves HTTP/2 too.
    /// </summary>
    public int Http2Port { get; set; } = 8081;

    /// <summary>Address to listen on: 0.0.0.0 for all, 127.0.0.1 for loopback only.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>PFX/PKCS#12 certificate file; when set, <see cref="HttpPort"/> serves TLS.</summary>
    public string? TlsCertificatePath { get; set; }

    /// <summary>Environment variable holding the certificate password (never on the command line).</summary>
    public string TlsCertificatePasswordVariable { get; set; } = "DATAPLANE_TLS_PASSWORD";

    /// <summary>
    /// Largest request body accepted, in bytes (413 past it); null = no limit, the default: bodies
    /// are streamed, never held, so size costs no memory, and instances enforce their own limits.
    /// Slow bodies are cut off by Kestrel's minimum data rate (240 bytes/s after 5 s).
    /// </summary>
    public long? MaxRequestBodySize { get; set; }

    /// <summary>Most concurrent HTTP/2 streams one client connection may open. Default 100 (Kestrel's).</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;
}
