using ControlPlane.Grpc.Client;

namespace ControlPlane.Sdk;

/// <summary>
/// Settings of a <see cref="ControlPlaneClient"/>. Secrets are never held here: only the names of the
/// environment variables that hold them (or name the files that do), so options bound from
/// configuration or the command line can never carry a token.
/// </summary>
public sealed class ControlPlaneClientOptions
{
    /// <summary>
    /// Control-plane gRPC addresses (<c>http://cp-1:8001</c> for h2c, <c>https://</c> for TLS). Calls
    /// go to one of them; an UNAVAILABLE answer moves every later call and stream to the next.
    /// </summary>
    public IList<Uri> Addresses { get; } = [];

    /// <summary>
    /// False (default): calls start at the first of <see cref="Addresses"/> (an order of preference).
    /// True: at one picked at random once per client, then in list order from there, so that a fleet
    /// of processes given the same list spreads over the replicas instead of piling onto the first
    /// (as Envoy spreads its xDS streams over a cluster's hosts). The dataplane node sets it.
    /// </summary>
    public bool StartAtRandomAddress { get; set; }

    /// <summary>Deadline of each attempt of a unary call (the reference's AGENT_REQUEST_TIMEOUT_S). Default 5 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries of idempotent calls (see <see cref="RetryOptions"/>).</summary>
    public RetryOptions Retry { get; set; } = new();

    /// <summary>How long opening a connection may take before the attempt fails UNAVAILABLE. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A connection that has received nothing for this long is sent an HTTP/2 PING, also while its
    /// only calls are idle watch or heartbeat streams (gRPC's keepalive time). Default 10 s; at least 1 s, or <see cref="Timeout.InfiniteTimeSpan"/> for none.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A PING unanswered this long closes the connection and ends its calls UNAVAILABLE, so streams
    /// move to the next address: a control plane that hangs or is cut off keeps its connection open
    /// and would otherwise hold them until TCP gives up. Default 5 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Environment variable holding the platform (admin) token. Default <c>PLATFORM_TOKEN</c>; empty never reads one (a dataplane node must not hold it).</summary>
    public string PlatformTokenVariable { get; set; } = "PLATFORM_TOKEN";

    /// <summary>
    /// Environment variable naming a file that holds the platform token (a mounted secret). When set it
    /// wins over <see cref="PlatformTokenVariable"/>, as on the server. Default <c>PLATFORM_TOKEN_FILE</c>.
    /// </summary>
    public string PlatformTokenFileVariable { get; set; } = "PLATFORM_TOKEN_FILE";

    /// <summary>
    /// False (default): <c>x-platform-token</c> is sent only on methods the protos mark
    /// <c>(controlplane.v1.admin_only)</c>, so the admin secret crosses the network only where it is
    /// checked. True: on every call (for a gateway in front of the control plane that gates all calls).
    /// </summary>
    public bool SendPlatformTokenOnEveryCall { get; set; }

    /// <summary>Environment variable holding the dataplane token, sent as <c>x-dataplane-token</c> on <c>(controlplane.v1.dataplane_only)</c> methods (the discovery streams). Default <c>DATAPLANE_TOKEN</c>; empty never reads one.</summary>
    public string DataplaneTokenVariable { get; set; } = "DATAPLANE_TOKEN";

    /// <summary>Environment variable naming a file that holds the dataplane token; wins over <see cref="DataplaneTokenVariable"/>. Default <c>DATAPLANE_TOKEN_FILE</c>.</summary>
    public string DataplaneTokenFileVariable { get; set; } = "DATAPLANE_TOKEN_FILE";

    /// <summary>
    /// Who is calling, sent as <c>x-agent</c> metadata (e.g. "lb-policy-agent"); the control plane
    /// records it as the actor of policy changes. Null sends none.
    /// </summary>
    public string? AgentName { get; set; }

    /// <summary>Adjusts the channel of each address (TLS validation, a test handler, message sizes).</summary>
    public Action<GrpcChannelOptions>? ConfigureChannel { get; set; }
}
