using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>
/// controlplane.v1.LoadReportService: the stream on which dataplane nodes report what they served
/// (the dataplane token is sent when configured). The exactly-once rules (epoch, sequence, resend
/// from the last acknowledged sequence) are the reporter's, see load_report.proto.
/// </summary>
public interface ILoadReportClient
{
    /// <summary>Opens a load-report stream.</summary>
    ControlPlaneStream<ReportLoadRequest, ReportLoadResponse> OpenReportStream(CancellationToken cancellationToken = default);
}
