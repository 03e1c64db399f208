using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>controlplane.v1.BillingService: usage exports (the reference's billing export document, with its checksum).</summary>
public interface IBillingClient
{
    /// <summary>Exports usage per image for a window; no side effects, so it is retried after UNAVAILABLE.</summary>
    Task<ExportBillingResponse> ExportBillingAsync(ExportBillingRequest request, CancellationToken cancellationToken = default);
}
