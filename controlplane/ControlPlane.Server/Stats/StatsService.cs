using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Stats;

/// <summary>
/// controlplane.v1.StatsService over gRPC, and over REST by JSON transcoding:
/// <c>GET /v1/stats/images?window=</c> and <c>GET /v1/stats/instances?image=&amp;window=</c> answer
/// JSON arrays of the reference's shape (response_body).
/// </summary>
internal sealed class StatsService(StatsReader reader)
{
    public Task<GetImageStatsResponse> GetImageStats(GetImageStatsRequest request, ServerCallContext context) =>
        reader.GetImageStatsAsync(request, context.CancellationToken);

    public Task<GetInstanceStatsResponse> GetInstanceStats(GetInstanceStatsRequest request, ServerCallContext context) =>
        reader.GetInstanceStatsAsync(request, context.CancellationToken);
}
