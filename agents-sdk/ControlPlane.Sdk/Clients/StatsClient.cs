using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class StatsClient(IControlPlaneInvoker invoker) : IStatsClient
{
    public Task<GetImageStatsResponse> GetImageStatsAsync(GetImageStatsRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.GetImageStats, request, cancellationToken);

    public Task<GetInstanceStatsResponse> GetInstanceStatsAsync(GetInstanceStatsRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.GetInstanceStats, request, cancellationToken);
}
