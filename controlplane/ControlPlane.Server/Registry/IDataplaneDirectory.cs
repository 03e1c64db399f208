using ControlPlane.Api.V1;

namespace ControlPlane.Server.Registry;

/// <summary>The dataplane nodes the topology shows beside the registry's images (the fleet view provides them).</summary>
public interface IDataplaneDirectory
{
    ValueTask<IReadOnlyList<TopologyDataplane>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>The load-balancing algorithm each image is routed with, for the topology (the policy store provides it).</summary>
public interface IImageAlgorithms
{
    /// <summary>The stored policy's algorithm, or null when the image has none (it is then routed with round_robin).</summary>
    ValueTask<string?> AlgorithmOfAsync(string image, CancellationToken cancellationToken = default);
}
