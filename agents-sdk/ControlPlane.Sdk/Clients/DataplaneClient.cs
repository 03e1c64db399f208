using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class DataplaneClient(IControlPlaneInvoker invoker) : IDataplaneClient
{
    public Task<ListDataplanesResponse> ListDataplanesAsync(ListDataplanesRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.ListDataplanes, request, cancellationToken);

    public Task<GetDataplaneResponse> GetDataplaneAsync(GetDataplaneRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.GetDataplane, request, cancellationToken);
}
