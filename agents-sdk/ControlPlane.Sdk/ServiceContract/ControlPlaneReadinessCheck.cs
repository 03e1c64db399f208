using ControlPlane.Grpc.Client;
using Grpc.Health.V1;

namespace ControlPlane.Sdk.ServiceContract;

/// <summary>
/// Ready while the control plane answers <c>grpc.health.v1.Health/Check</c> with SERVING (the
/// reference's <c>not_ready</c>: a dependency is not ready). Registered by
/// <see cref="AgentServiceContractExtensions.AddControlPlaneReadinessCheck"/>.
/// </summary>
internal sealed class ControlPlaneReadinessCheck(IControlPlaneInvoker invoker) : IReadinessCheck
{
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> Check =
        new(HealthReflection.Descriptor.Services[0].FindMethodByName("Check"));

    public string Name => "control_plane";

    public async Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            var response = await invoker.UnaryAsync(Check, new HealthCheckRequest(), cancellationToken).ConfigureAwait(false);
            return response.Status == HealthCheckResponse.Types.ServingStatus.Serving
                ? ReadinessResult.Ready()
                : ReadinessResult.NotReady($"{invoker.CurrentAddress} is {response.Status}");
        }
        catch (ControlPlaneException ex)
        {
            return ReadinessResult.NotReady($"{ex.Address}: {ex.ErrorCode}: {ex.Detail}");
        }
    }
}
