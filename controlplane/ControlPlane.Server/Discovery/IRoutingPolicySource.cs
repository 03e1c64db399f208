using ControlPlane.Api.V1;

namespace ControlPlane.Server.Discovery;

/// <summary>
/// Where the discovery cache reads routing policies. The policy store implements it (through an
/// adapter); without one, no image has a policy and no RoutingPolicy resource exists. A change is
/// announced through <see cref="Resources.ResourceChanges.PolicyChanged"/>.
/// </summary>
public interface IRoutingPolicySource
{
    /// <summary>The policy of <paramref name="image"/>, or null when it has none.</summary>
    ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default);

    /// <summary>Every stored policy (read once, when the cache warms up).</summary>
    ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>The source used until a policy store is registered: no policies.</summary>
internal sealed class NoRoutingPolicies : IRoutingPolicySource
{
    public ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default) => ValueTask.FromResult<RoutingPolicy?>(null);

    public ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<RoutingPolicy>>([]);
}
