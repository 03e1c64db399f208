using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class LoadReportClient(IControlPlaneInvoker invoker) : ILoadReportClient
{
    public ControlPlaneStream<ReportLoadRequest, ReportLoadResponse> OpenReportStream(CancellationToken cancellationToken = default) =>
        invoker.OpenDuplexStream(M.ReportLoad, cancellationToken);
}
