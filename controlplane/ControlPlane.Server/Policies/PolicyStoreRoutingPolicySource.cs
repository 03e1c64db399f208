using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery;

namespace ControlPlane.Server.Policies;

/// <summary>The discovery cache reads the policies an operator stored: the policy set is exactly the policy pushed.</summary>
internal sealed class PolicyStoreRoutingPolicySource(IPolicyStore store) : IRoutingPolicySource, Registry.IImageAlgorithms
{
    public async ValueTask<string?> AlgorithmOfAsync(string image, CancellationToken cancellationToken = default) =>
        (await store.GetAsync(image, cancellationToken).ConfigureAwait(false))?.Algorithm;

    public ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default) =>
        store.GetAsync(image, cancellationToken);

    public ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(CancellationToken cancellationToken = default) =>
        store.ListAsync(cancellationToken: cancellationToken);
}
