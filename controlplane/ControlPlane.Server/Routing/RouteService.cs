using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Routing;

/// <summary>controlplane.v1.RouteService over gRPC (and REST, by JSON transcoding of the same method).</summary>
public sealed class RouteService(RoutePreviewer previewer)
{
    public Task<PreviewRouteResponse> PreviewRoute(PreviewRouteRequest request, ServerCallContext context) =>
        previewer.PreviewAsync(request, context.CancellationToken);
}
