using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Interop.V1;
using static ControlPlane.Interop.Tests.Cases.InteropMessages;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>custom_metadata: the server echoes an ASCII request header as a response header and a binary one as a trailer.</summary>
public abstract partial class InteropCases
{
    private static Metadata EchoHeaders() => new Metadata()
        .Add(InteropTestService.EchoInitialKey, EchoInitialValue)
        .Add(InteropTestService.EchoTrailingKey, EchoTrailingValue);

    [Fact]
    public async Task CustomMetadata_Unary()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncUnaryCall(
            InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = LargeResponseSize, Payload = Zeros(LargeRequestSize) }, Call(EchoHeaders()));
        AssertZeros((await call.ResponseAsync.DefaultTimeout()).Payload, LargeResponseSize);
        await AssertEchoesAsync(call);
    }

    [Fact]
    public async Task CustomMetadata_FullDuplex()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall, Call(EchoHeaders()));
        await call.RequestStream.WriteAsync(OutputRequest([LargeResponseSize], LargeRequestSize)).DefaultTimeout();
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        var responses = new List<StreamingOutputCallResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            responses.Add(call.ResponseStream.Current);
        }
        AssertZeros(Assert.Single(responses).Payload, LargeResponseSize);
        await AssertEchoesAsync(call);
    }

    private static async Task AssertEchoesAsync(ICallState call)
    {
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();
        var trailers = call.GetTrailers();

        var initial = Assert.Single(headers.GetAll(InteropTestService.EchoInitialKey));
        Assert.False(initial.IsBinary);
        Assert.Equal(EchoInitialValue, initial.Value);
        Assert.Empty(headers.GetAll(InteropTestService.EchoTrailingKey));

        var trailing = Assert.Single(trailers.GetAll(InteropTestService.EchoTrailingKey));
        Assert.True(trailing.IsBinary);
        Assert.Equal(EchoTrailingValue, trailing.ValueBytes);
        Assert.Empty(trailers.GetAll(InteropTestService.EchoInitialKey));
    }
}
