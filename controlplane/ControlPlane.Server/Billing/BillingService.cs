using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Billing;

/// <summary>
/// controlplane.v1.BillingService over gRPC, and over REST by JSON transcoding
/// (<c>POST /v1/billing/export?window=1h</c>, no body). Open, as billing.proto explains.
/// </summary>
internal sealed class BillingService(BillingExporter exporter)
{
    public Task<ExportBillingResponse> ExportBilling(ExportBillingRequest request, ServerCallContext context) =>
        exporter.ExportAsync(request, context.CancellationToken);
}
