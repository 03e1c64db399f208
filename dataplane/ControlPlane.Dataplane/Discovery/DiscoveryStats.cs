namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// What the discovery client did per resource type, for the node's metrics: responses accepted
/// (ACK) and rejected (NACK), and the <c>system_version_info</c> of the last accepted one.
/// Written by the stream's reader, read by scrapes.
/// </summary>
internal sealed class DiscoveryStats
{
    private readonly Dictionary<string, TypeStats> _types;
    private long _otherNacks;

    public DiscoveryStats(IEnumerable<string> typeUrls) =>
        _types = typeUrls.ToDictionary(t => t, t => new TypeStats(t), StringComparer.Ordinal);

    /// <summary>Every subscribed type, in subscription order.</summary>
    public IEnumerable<TypeStats> Types => _types.Values;

    /// <summary>Responses rejected because their type is not one the node subscribed to (a control plane's bug).</summary>
    public long OtherNacks => Interlocked.Read(ref _otherNacks);

    public long Acks => _types.Values.Sum(t => Interlocked.Read(ref t.AckCount));

    public long Nacks => _types.Values.Sum(t => Interlocked.Read(ref t.NackCount)) + Interlocked.Read(ref _otherNacks);

    public void Acked(string typeUrl, string version)
    {
        if (_types.TryGetValue(typeUrl, out var type))
        {
            Interlocked.Increment(ref type.AckCount);
            Volatile.Write(ref type.VersionField, version);
        }
    }

    /// <summary>A rejected response; one of a type the node does not subscribe to counts in <see cref="OtherNacks"/>.</summary>
    public void Nacked(string typeUrl) =>
        Interlocked.Increment(ref _types.TryGetValue(typeUrl, out var type) ? ref type.NackCount : ref _otherNacks);

    internal sealed class TypeStats(string typeUrl)
    {
        internal long AckCount;
        internal long NackCount;
        internal string? VersionField;

        public string TypeUrl { get; } = typeUrl;

        /// <summary>"EndpointSet" for ".../controlplane.v1.EndpointSet", as the control plane's metrics label types.</summary>
        public string ShortName { get; } = typeUrl[(typeUrl.LastIndexOf('.') + 1)..];

        public long Acks => Interlocked.Read(ref AckCount);

        public long Nacks => Interlocked.Read(ref NackCount);

        /// <summary>system_version_info of the last accepted response; null before one.</summary>
        public string? Version => Volatile.Read(ref VersionField);
    }
}
