using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>What every discovery stream shares: the cache, settings, clock, metrics, the registry of open streams.</summary>
internal sealed class StreamServices
{
    public StreamServices(
        IResourceWatch cache, DiscoveryOptions options, TimeProvider clock, DiscoveryMetrics metrics, StreamRegistry registry, ILogger<DiscoveryService> logger,
        IRegistryStore? store = null, IStorePositionSource? positions = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(logger);
        Cache = cache;
        Options = options;
        Clock = clock;
        Metrics = metrics;
        Registry = registry;
        Logger = logger;
        ControlPlaneId = options.ResolveControlPlaneId();
        Store = store;
        Positions = positions;
    }

    /// <summary>The registry's store, to tell whether it is known to be unreachable.</summary>
    public IRegistryStore? Store { get; }

    /// <summary>The change follower on a shared store; null with the embedded store.</summary>
    public IStorePositionSource? Positions { get; }

    public IResourceWatch Cache { get; }

    public DiscoveryOptions Options { get; }

    public TimeProvider Clock { get; }

    public DiscoveryMetrics Metrics { get; }

    public StreamRegistry Registry { get; }

    public ILogger Logger { get; }

    public string ControlPlaneId { get; }

    /// <summary>Most bytes of resources one response can carry (the send limit less room for the rest).</summary>
    public int MaxResourceBytes => Options.MaxResponseBytes - DiscoveryOptions.ResponseOverhead;

    private readonly Lock _tooLargeLock = new();
    private readonly HashSet<string> _tooLarge = new(StringComparer.Ordinal);

    /// <summary>
    /// Something a node should have been sent is over <see cref="MaxResourceBytes"/>: logged once per
    /// type, what and version (every node subscribed meets it), not once per stream.
    /// </summary>
    public void TooLarge(string nodeId, string typeUrl, string what, string version, long bytes)
    {
        lock (_tooLargeLock)
        {
            if (_tooLarge.Count >= 1024)
            {
                _tooLarge.Clear();
            }
            if (!_tooLarge.Add(typeUrl + " " + what + " " + version))
            {
                return;
            }
        }
        DiscoveryLog.TooLarge(Logger, nodeId, what, typeUrl, bytes, MaxResourceBytes);
    }
}
