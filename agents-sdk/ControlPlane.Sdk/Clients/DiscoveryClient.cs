using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class DiscoveryClient(IControlPlaneInvoker invoker) : IDiscoveryClient
{
    public ControlPlaneStream<DeltaResourcesRequest, DeltaResourcesResponse> OpenDeltaStream(CancellationToken cancellationToken = default) =>
        invoker.OpenDuplexStream(M.DeltaResources, cancellationToken);

    public ControlPlaneStream<StreamResourcesRequest, StreamResourcesResponse> OpenStateOfTheWorldStream(CancellationToken cancellationToken = default) =>
        invoker.OpenDuplexStream(M.StreamResources, cancellationToken);
}
