using ControlPlane.Api.Validation;
using ControlPlane.Sdk;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// How the node takes its configuration from the control plane (keys of the "Dataplane" section).
/// The discovery client runs only when <see cref="ControlPlanes"/> names at least one address.
/// </summary>
public sealed class DiscoveryOptions
{
    public const string Section = "Dataplane";

    /// <summary>
    /// Control-plane gRPC addresses (e.g. <c>http://cp-1:8001</c>, <c>https://</c> for TLS), tried in
    /// turn on reconnect. Each must be an absolute http:// or https:// URI of a host and port only
    /// (<see cref="ControlPlaneAddress"/>).
    /// </summary>
    public List<string> ControlPlanes { get; set; } = [];

    /// <summary>
    /// True (default): the node starts with a random entry of <see cref="ControlPlanes"/> (drawn once
    /// per process) and fails over in list order from there, so a fleet given the same list spreads
    /// over the replicas, as Envoy spreads its xDS streams over a cluster's hosts, instead of every
    /// node piling onto the first. False: it starts with the first (a list in order of preference).
    /// </summary>
    public bool StartAtRandomControlPlane { get; set; } = true;

    /// <summary>The node's id, stable across restarts; default the machine name.</summary>
    public string NodeId { get; set; } = Environment.MachineName;

    /// <summary>Zone the node runs in; optional.</summary>
    public string? Zone { get; set; }

    /// <summary>Region the node runs in; optional.</summary>
    public string? Region { get; set; }

    /// <summary>Where the last-known-good configuration is kept; null = not persisted.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>
    /// How long the node waits at start for a control plane to answer before it serves its
    /// last-known-good configuration. Default 3 s.
    /// </summary>
    public TimeSpan LastKnownGoodAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Longest wait between two writes of the last-known-good resources. The file is written off the
    /// discovery stream (the ACK never waits for it) and always with the newest configuration; after a
    /// write the next waits four times as long as that one took, but never longer than this. So a small
    /// configuration is on disk milliseconds after each change, while at 100,000 images (about 16 MB,
    /// fsynced in 170-300 ms) a burst of changes is written about once per interval, not once per
    /// response. The first write after a quiet interval starts at once, a store position alone is
    /// written without waiting, and stopping the node writes what is pending. Default 1 s;
    /// <see cref="TimeSpan.Zero"/> writes again as soon as the last write ends; at most 1 h.
    /// </summary>
    public TimeSpan LastKnownGoodWriteInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Envoy's initial fetch: at start the node publishes nothing until every subscribed type
    /// (EndpointSet and RoutingPolicy) has answered once, so no request is routed by round_robin
    /// because an image's endpoints arrived before its policy; this long after the control plane's
    /// first answer it goes ahead with what it has. Default 5 s; <see cref="TimeSpan.Zero"/>
    /// publishes each answer at once; <see cref="Timeout.InfiniteTimeSpan"/> waits for every type.
    /// </summary>
    public TimeSpan InitialFetchTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a stream may go without its first response (connecting included) before the node
    /// gives up on it and tries the next control plane: one that accepts the stream and then hangs
    /// must not hold the node until the connection's keepalive (<see cref="ControlPlaneKeepAliveInterval"/> +
    /// <see cref="ControlPlaneKeepAliveTimeout"/>) ends it. A control plane
    /// answers a new stream at once; a replica behind the node waits at most its BehindWait (5 s)
    /// before refusing it. Default 10 s.
    /// </summary>
    public TimeSpan FirstResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The connection to the control plane (discovery and load-report streams) is sent an HTTP/2 PING
    /// when nothing has come from it for this long. Default 5 s; at least 1 s.
    /// </summary>
    public TimeSpan ControlPlaneKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A PING unanswered this long ends the connection and the node moves to the next control plane.
    /// A replica that hangs (stopped, swapping, cut off by the network) keeps its connections open, so
    /// this is what notices it: within <see cref="ControlPlaneKeepAliveInterval"/> + this (10 s by
    /// default) instead of TCP's minutes. Default 5 s.
    /// </summary>
    public TimeSpan ControlPlaneKeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First reconnect delay bound (full jitter: the delay is uniform in [0, bound]). Default 250 ms.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Largest reconnect delay bound. Default 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Only a stream that answered and stayed open this long starts the reconnect delays over from
    /// <see cref="ReconnectBaseDelay"/>; one that answers and then drops keeps them growing, so a
    /// flapping control plane is not hammered with new streams. Default 30 s.
    /// </summary>
    public TimeSpan BackoffResetAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Environment variable holding the token sent as <c>x-dataplane-token</c>.</summary>
    public string TokenVariable { get; set; } = "DATAPLANE_TOKEN";

    /// <summary>
    /// Throws when a control-plane address could not be used (<see cref="ControlPlaneAddress"/>), or
    /// the node's identity would be refused by the control plane (which shows it in its fleet view,
    /// logs and URL paths): id required; id, zone and region printable ASCII without spaces
    /// (0x21-0x7E), at most 128 characters. Checked at start, so a bad setting stops the node with
    /// one line instead of a node that never connects, or shows only refused streams.
    /// </summary>
    public void Validate()
    {
        for (var i = 0; i < ControlPlanes.Count; i++)
        {
            if (ControlPlaneAddress.Problem(ControlPlanes[i]) is { } problem)
            {
                throw new InvalidOperationException($"Invalid {Section}:{nameof(ControlPlanes)}:{i}: {problem}");
            }
        }
        if (string.IsNullOrEmpty(NodeId))
        {
            throw new InvalidOperationException($"Invalid {Section}:{nameof(NodeId)}: it is required");
        }
        if (FirstResponseTimeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Invalid {Section}:{nameof(FirstResponseTimeout)}: must be positive");
        }
        if (ControlPlaneKeepAliveInterval < TimeSpan.FromSeconds(1))
        {
            throw new InvalidOperationException($"Invalid {Section}:{nameof(ControlPlaneKeepAliveInterval)}: must be at least 1 s");
        }
        if (ControlPlaneKeepAliveTimeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Invalid {Section}:{nameof(ControlPlaneKeepAliveTimeout)}: must be positive");
        }
        if (BackoffResetAfter < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Invalid {Section}:{nameof(BackoffResetAfter)}: must not be negative");
        }
        if (LastKnownGoodWriteInterval < TimeSpan.Zero || LastKnownGoodWriteInterval > TimeSpan.FromHours(1))
        {
            throw new InvalidOperationException($"Invalid {Section}:{nameof(LastKnownGoodWriteInterval)}: must be 0 to 1 h");
        }
        Check(nameof(NodeId), NodeText.IdProblem(NodeId));
        Check(nameof(Zone), string.IsNullOrEmpty(Zone) ? null : NodeText.Problem(Zone));
        Check(nameof(Region), string.IsNullOrEmpty(Region) ? null : NodeText.Problem(Region));

        static void Check(string name, string? problem)
        {
            if (problem is not null)
            {
                throw new InvalidOperationException($"Invalid {Section}:{name}: {problem}");
            }
        }
    }

    /// <summary>Environment variable naming a file that holds the token; when set it wins over <see cref="TokenVariable"/>, as on the control plane (the SDK reads both and logs which one, never the value).</summary>
    public string TokenFileVariable { get; set; } = "DATAPLANE_TOKEN_FILE";
}
