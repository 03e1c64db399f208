using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>
/// One ReportLoad stream as a node opens it: the node identity on the first report only, one
/// answer awaited per report (the server answers each, in order).
/// </summary>
internal sealed class ReportStream : IDisposable
{
    private static readonly Method<ReportLoadRequest, ReportLoadResponse> Method =
        new(LoadReportReflection.Descriptor.Services[0].FindMethodByName("ReportLoad"));

    private readonly AsyncDuplexStreamingCall<ReportLoadRequest, ReportLoadResponse> _call;
    private readonly string _nodeId;
    private bool _identified;

    public ReportStream(GrpcChannel channel, string nodeId, string? token)
    {
        _nodeId = nodeId;
        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add("x-dataplane-token", token);
        }
        _call = channel.AsyncDuplexStreamingCall(Method, new CallOptions(headers));
    }

    /// <summary>Sends <paramref name="report"/> (with the node identity if it is the stream's first) and returns the server's answer.</summary>
    public async Task<ReportLoadResponse> SendAsync(ReportLoadRequest report)
    {
        await WriteAsync(report);
        return await NextAnswerAsync();
    }

    public async Task WriteAsync(ReportLoadRequest report)
    {
        if (!_identified && report.Node is null)
        {
            report = report.Clone();
            report.Node = new Node { Id = _nodeId, UserAgentName = "test-node" };
        }
        _identified = true;
        await _call.RequestStream.WriteAsync(report).DefaultTimeout();
    }

    public async Task<ReportLoadResponse> NextAnswerAsync()
    {
        if (!await _call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            throw new Xunit.Sdk.XunitException($"the stream ended without an answer: {_call.GetStatus()}");
        }
        return _call.ResponseStream.Current;
    }

    /// <summary>Reads until the server ends the stream and returns its status.</summary>
    public async Task<Status> WaitForEndAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
            {
            }
            return _call.GetStatus();
        }
        catch (RpcException ex)
        {
            return ex.Status;
        }
    }

    public Task CompleteAsync() => _call.RequestStream.CompleteAsync().DefaultTimeout();

    public void Dispose() => _call.Dispose();
}
