using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class RouteClient(IControlPlaneInvoker invoker) : IRouteClient
{
    public Task<PreviewRouteResponse> PreviewRouteAsync(PreviewRouteRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.PreviewRoute, request, cancellationToken);
}
