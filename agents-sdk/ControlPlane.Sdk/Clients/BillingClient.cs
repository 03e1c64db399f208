using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class BillingClient(IControlPlaneInvoker invoker) : IBillingClient
{
    public Task<ExportBillingResponse> ExportBillingAsync(ExportBillingRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.ExportBilling, request, cancellationToken);
}
