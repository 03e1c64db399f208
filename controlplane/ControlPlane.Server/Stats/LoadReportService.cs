using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Discovery.Streams;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Stats;

/// <summary>
/// controlplane.v1.LoadReportService (dataplane_only: the dataplane token interceptor guards it).
/// Each report is validated whole, then applied to the store exactly once per (node, epoch,
/// sequence), and answered with the epoch's last accepted sequence, in order, one answer per report.
/// A stopping replica ends its streams at once with UNAVAILABLE (shutting_down), so nodes resend
/// their unacknowledged reports to another replica instead of holding the shutdown.
/// </summary>
internal sealed class LoadReportService(
    ILoadStore store, StatsOptions options, StatsMetrics metrics, TimeProvider time, ILogger<LoadReportService> logger, string controlPlaneId, IHostApplicationLifetime? lifetime)
{
    public async Task ReportLoad(IAsyncStreamReader<ReportLoadRequest> requestStream, IServerStreamWriter<ReportLoadResponse> responseStream, ServerCallContext context)
    {
        var stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
        using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
        metrics.StreamOpened();
        try
        {
            await RunAsync(requestStream, responseStream, context, call.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.Exception(StatusCode.Unavailable, "shutting_down", "the control plane is shutting down; resend unacknowledged reports to another replica");
        }
        finally
        {
            metrics.StreamClosed();
        }
    }

    private async Task RunAsync(IAsyncStreamReader<ReportLoadRequest> requests, IServerStreamWriter<ReportLoadResponse> responses, ServerCallContext context, CancellationToken cancellationToken)
    {
        var peer = context.Peer;
        if (!await requests.MoveNext(cancellationToken))
        {
            return;
        }
        Node node;
        try
        {
            node = NodeIdentity.Validate(requests.Current.Node);
            NodeBinding.Check(context, node);
        }
        catch (RpcException ex)
        {
            Refused(ex, "(unidentified)", peer);
            throw;
        }
        var first = true;
        do
        {
            var report = requests.Current;
            try
            {
                NodeIdentity.CheckSame(report.Node, node);
            }
            catch (RpcException ex)
            {
                Refused(ex, node.Id, peer);
                throw;
            }
            var (batch, result) = await CountAsync(report, node.Id, peer, cancellationToken);
            metrics.Report(result.Disposition, batch?.Requests ?? 0);
            switch (result.Disposition)
            {
                case ReportDisposition.Accepted:
                    StatsLog.Accepted(logger, node.Id, report.Epoch, report.Sequence, batch!.Requests, batch.Images.Count);
                    break;
                case ReportDisposition.Duplicate:
                    StatsLog.Duplicate(logger, node.Id, report.Epoch, report.Sequence, result.LastAccepted);
                    break;
                default:
                    StatsLog.Gap(logger, node.Id, report.Epoch, report.Sequence, result.LastAccepted);
                    break;
            }
            var response = new ReportLoadResponse { Epoch = report.Epoch, AckedSequence = result.LastAccepted, ControlPlaneId = controlPlaneId };
            if (first && options.ReportInterval is { } interval)
            {
                response.ReportInterval = Duration.FromTimeSpan(interval);
            }
            first = false;
            await responses.WriteAsync(response, cancellationToken);
        }
        while (await requests.MoveNext(cancellationToken));
    }

    /// <summary>
    /// Validates <paramref name="report"/> whole, then counts it once (the store's exactly-once check),
    /// answering its batch (null when refused) and what became of it. A resend of a report this epoch
    /// has counted (its answer was lost), refused here for its content (this replica's limits differ),
    /// is acknowledged as the duplicate it is, so the node never splits or sets aside a report that was
    /// counted, and counts it again in parts. Otherwise a refused report ends the stream: nothing of it
    /// was counted, and the node learns why from the status.
    /// </summary>
    private async ValueTask<(LoadBatch? Batch, ReportResult Result)> CountAsync(ReportLoadRequest report, string nodeId, string peer, CancellationToken cancellationToken)
    {
        LoadBatch batch;
        try
        {
            batch = LoadReportValidator.Validate(report, options);
        }
        catch (RpcException ex)
        {
            if (await CountedBeforeAsync(nodeId, report, cancellationToken) is not { } last)
            {
                Refused(ex, nodeId, peer);
                throw;
            }
            return (null, new ReportResult(ReportDisposition.Duplicate, last));
        }
        return (batch, await store.ApplyAsync(new ReportKey(nodeId, report.Epoch), report.Sequence, batch, time.GetUtcNow(), cancellationToken));
    }

    /// <summary>The epoch's last accepted sequence when <paramref name="report"/> is at or below it (counted before); else null.</summary>
    private async ValueTask<ulong?> CountedBeforeAsync(string nodeId, ReportLoadRequest report, CancellationToken cancellationToken)
    {
        if (report.Sequence == 0 || report.Epoch.Length is 0 or > 64)
        {
            return null;
        }
        var last = await store.LastAcceptedAsync(new ReportKey(nodeId, report.Epoch), cancellationToken);
        return report.Sequence <= last ? last : null;
    }

    private void Refused(RpcException ex, string nodeId, string peer)
    {
        metrics.Invalid();
        StatsLog.Invalid(logger, nodeId, peer, ex.Status.Detail);
    }
}
