using System.Collections.Concurrent;
using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>Routing policies kept in memory, standing in for the policy store.</summary>
internal sealed class FakePolicySource : IRoutingPolicySource
{
    private readonly ConcurrentDictionary<string, RoutingPolicy> _policies = new(StringComparer.Ordinal);

    /// <summary>When set, every read fails (a store that cannot be reached).</summary>
    public Exception? Failure { get; set; }

    public void Set(RoutingPolicy policy) => _policies[policy.Image] = policy.Clone();

    public void Delete(string image) => _policies.TryRemove(image, out _);

    public ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default) =>
        Failure is { } failure ? ValueTask.FromException<RoutingPolicy?>(failure) : ValueTask.FromResult(_policies.TryGetValue(image, out var p) ? p.Clone() : null);

    public ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(CancellationToken cancellationToken = default) =>
        Failure is { } failure
            ? ValueTask.FromException<IReadOnlyList<RoutingPolicy>>(failure)
            : ValueTask.FromResult<IReadOnlyList<RoutingPolicy>>(_policies.Values.Select(p => p.Clone()).ToArray());
}
