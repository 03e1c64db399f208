using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>controlplane.v1.StatsService: traffic per image and per instance over a window ("1m", "5m", "1h").</summary>
public interface IStatsClient
{
    /// <summary>Per-image statistics of a window.</summary>
    Task<GetImageStatsResponse> GetImageStatsAsync(GetImageStatsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Per-instance statistics of a window.</summary>
    Task<GetInstanceStatsResponse> GetInstanceStatsAsync(GetInstanceStatsRequest request, CancellationToken cancellationToken = default);
}
