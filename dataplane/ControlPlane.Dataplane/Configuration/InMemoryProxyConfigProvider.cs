using ControlPlane.LoadBalancing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// A provider fed in code: tests, and the discovery client (which validates and acknowledges each
/// resource, then publishes the whole set here). <see cref="Update"/> builds the next snapshot,
/// swaps it in with one reference write and then fires the previous snapshot's change token;
/// requests already running keep the snapshot they started with.
/// </summary>
public sealed class InMemoryProxyConfigProvider : IProxyConfigProvider
{
    private readonly ProxyConfigFactory _factory;
    private readonly ILogger _logger;
    private readonly Lock _updateLock = new();
    private CancellationTokenSource _changed = new();
    private ProxyConfig _current;

    /// <summary>A provider with the built-in balancers and the system clock.</summary>
    public InMemoryProxyConfigProvider()
        : this(LoadBalancingPolicies.Default, BalancerOptions.Default, TimeProvider.System, NullLogger<InMemoryProxyConfigProvider>.Instance)
    {
    }

    public InMemoryProxyConfigProvider(LoadBalancingPolicies policies, BalancerOptions balancerOptions, TimeProvider time, ILogger<InMemoryProxyConfigProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(balancerOptions);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _factory = new ProxyConfigFactory(policies, balancerOptions, time);
        _logger = logger;
        _current = ProxyConfig.NotLoaded(new CancellationChangeToken(_changed.Token), time.GetUtcNow());
    }

    public ProxyConfig Current => Volatile.Read(ref _current);

    /// <summary>
    /// Replaces the configuration with exactly <paramref name="images"/> (images left out are
    /// removed) and returns the new snapshot. Invalid input throws
    /// <see cref="InvalidProxyConfigException"/> and changes nothing.
    /// </summary>
    public ProxyConfig Update(IEnumerable<ImageConfig> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        return Swap((current, token) => _factory.Build(current, images, token));
    }

    /// <summary>
    /// Changes the configuration in place of a full <see cref="Update(IEnumerable{ImageConfig})"/>:
    /// <paramref name="changed"/> images are added or replace theirs, <paramref name="removed"/> names
    /// go, every other image stays as it is (and is not validated or built again). Invalid input throws
    /// <see cref="InvalidProxyConfigException"/> and changes nothing.
    /// </summary>
    public ProxyConfig Patch(IReadOnlyCollection<ImageConfig> changed, IEnumerable<string> removed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        ArgumentNullException.ThrowIfNull(removed);
        return Swap((current, token) => _factory.Patch(current, changed, removed, token));
    }

    /// <summary>Builds the next snapshot from the current one and swaps it in, then fires the previous one's change token.</summary>
    private ProxyConfig Swap(Func<ProxyConfig, IChangeToken, ProxyConfig> build)
    {
        CancellationTokenSource previous;
        ProxyConfig next;
        lock (_updateLock)
        {
            var changed = new CancellationTokenSource();
            try
            {
                next = build(_current, new CancellationChangeToken(changed.Token));
            }
            catch
            {
                changed.Dispose();
                throw;
            }
            Volatile.Write(ref _current, next);
            previous = _changed;
            _changed = changed;
        }
        ConfigLog.Applied(_logger, next.Revision, next.Images.Count);
        // Outside the lock: change callbacks may read Current or even call Update. Not disposed:
        // consumers may still register on the old token (and must see it fired).
        previous.Cancel();
        return next;
    }

    /// <summary>Replaces the configuration with <paramref name="images"/>.</summary>
    public ProxyConfig Update(params ImageConfig[] images) => Update((IEnumerable<ImageConfig>)images);
}
