using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Discovery;

/// <summary>
/// What a <see cref="DeltaDiscoveryStream"/> asks of the holder of the resources: what to subscribe
/// to, what it already holds (so a reconnect resumes with <c>initial_resource_versions</c> and gets
/// only what changed, removals included), and whether to accept each response. The stream does the
/// protocol; the handler owns the resources and their meaning.
/// </summary>
public interface IDeltaResourceHandler
{
    /// <summary>The subscriptions, sent in this order at the start of every stream.</summary>
    IReadOnlyList<DeltaSubscription> Subscriptions { get; }

    /// <summary>Name → version of what is held of <paramref name="typeUrl"/> (sent on every (re)connect).</summary>
    IReadOnlyDictionary<string, string> Versions(string typeUrl);

    /// <summary>
    /// Validates and applies one response as a whole. Null accepts it (the stream ACKs); a status
    /// rejects it (the stream NACKs with it as <c>error_detail</c>) and the handler must keep what it
    /// held before. Called on the stream's reader, one response at a time.
    /// </summary>
    Google.Rpc.Status? Apply(DeltaResourcesResponse response);

    /// <summary>
    /// The <c>store_position</c> of what is held when no response of this process gave one yet (a
    /// configuration loaded from disk at start); empty when unknown. Sent when a stream opens, so a
    /// control plane behind it refuses the stream rather than send older configuration.
    /// </summary>
    string StorePosition => "";

    /// <summary>A stream to <paramref name="address"/> is being opened.</summary>
    void OnConnecting(Uri address)
    {
    }

    /// <summary>The stream to <paramref name="address"/> ended (<paramref name="reason"/>); the next one opens after <paramref name="reconnectDelay"/>.</summary>
    void OnStreamEnded(Uri address, string reason, TimeSpan reconnectDelay)
    {
    }
}
