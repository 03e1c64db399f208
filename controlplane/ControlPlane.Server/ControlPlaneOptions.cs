namespace ControlPlane.Server;

/// <summary>The "ControlPlane" configuration section: listeners, TLS and connection limits.</summary>
public sealed class ControlPlaneOptions
{
    public const string Section = "ControlPlane";

    /// <summary>gRPC port. Cleartext here is HTTP/2 only (h2c with prior knowledge); with TLS, ALPN offers h2 and http/1.1.</summary>
    public int GrpcPort { get; set; } = 8001;

    /// <summary>REST and ops port (HTTP/1.1; HTTP/2 too with TLS).</summary>
    public int HttpPort { get; set; } = 8000;

    /// <summary>Address to listen on: 0.0.0.0 for all, 127.0.0.1 for loopback only.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>PFX/PKCS#12 certificate file; when set, both ports serve TLS.</summary>
    public string? TlsCertificatePath { get; set; }

    /// <summary>Environment variable holding the certificate password (never put it on the command line).</summary>
    public string TlsCertificatePasswordVariable { get; set; } = "CONTROLPLANE_TLS_PASSWORD";

    /// <summary>
    /// Most concurrent HTTP/2 streams (calls) one client connection may open, announced in SETTINGS;
    /// Kestrel's default, 100. Raise it when nodes or agents multiplex many long-lived discovery or
    /// heartbeat streams over few connections (the fan-out benchmark runs 1,000 per connection);
    /// clients that reach the limit queue their calls or open more connections.
    /// </summary>
    public int MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>Put exception messages in UNKNOWN statuses (development only).</summary>
    public bool DetailedErrors { get; set; }
}
