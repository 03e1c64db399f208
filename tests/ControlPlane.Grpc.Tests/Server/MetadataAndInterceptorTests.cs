using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Interop.V1;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class MetadataAndInterceptorTests
{
    [Fact]
    public async Task CustomMetadata_TravelsBothWays_InHeadersAndTrailers()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel();
        var headers = new Metadata()
            .Add(InteropTestService.EchoInitialKey, "test_initial_metadata_value")
            .Add(InteropTestService.EchoTrailingKey, [0xab, 0xab, 0xab]);
        using var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 10 }, new CallOptions(headers));
        await call.ResponseAsync.DefaultTimeout();
        var initial = await call.ResponseHeadersAsync.DefaultTimeout();
        Assert.Equal("test_initial_metadata_value", initial.GetValue(InteropTestService.EchoInitialKey));
        Assert.Equal(new byte[] { 0xab, 0xab, 0xab }, call.GetTrailers().GetValueBytes(InteropTestService.EchoTrailingKey));

        using var duplex = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall, new CallOptions(headers));
        await duplex.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await duplex.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal("test_initial_metadata_value", (await duplex.ResponseHeadersAsync.DefaultTimeout()).GetValue(InteropTestService.EchoInitialKey));
        Assert.Equal(new byte[] { 0xab, 0xab, 0xab }, duplex.GetTrailers().GetValueBytes(InteropTestService.EchoTrailingKey));
    }

    [Fact]
    public async Task Interceptors_RunInOrder_SeeTheCall_AndCanRefuseIt()
    {
        var journal = new Journal();
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureServices = s => s.AddSingleton(journal),
            ConfigureGrpc = o => o.AddInterceptor<RecordingInterceptor>().AddInterceptor<TokenInterceptor>(),
            Map = app => app.MapGrpcService<InteropTestService>(InteropMethods.TestService),
        });
        using var channel = server.CreateChannel();

        var refused = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty()).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

        await channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty(), new CallOptions(new Metadata().Add("x-token", "let-me-in"))).ResponseAsync.DefaultTimeout();
        Assert.Equal(
            ["before /interop.v1.TestService/EmptyCall", "after Unauthenticated", "before /interop.v1.TestService/EmptyCall", "after OK"],
            journal.Lines);
    }

    [Fact]
    public async Task StartupCheck_NamesMissingHandlers_AndWrongSignatures()
    {
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app => app.MapGrpcService<IncompleteService>(InteropMethods.TestService),
        }));
        Assert.Contains("'interop.v1.TestService.StreamingInputCall' has no handler", missing.Message);
        Assert.Contains("'interop.v1.TestService.UnaryCall' is unary: IncompleteService.UnaryCall must be 'Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)'", missing.Message);
        Assert.Contains("IncompleteService.Extra looks like a handler", missing.Message);
    }

    public sealed class Journal
    {
        public List<string> Lines { get; } = [];
    }

    private sealed class RecordingInterceptor(Journal journal) : IServerInterceptor
    {
        public async Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
        {
            journal.Lines.Add("before " + context.MethodPath);
            try
            {
                await next(context);
                journal.Lines.Add("after " + context.Status.StatusCode);
            }
            catch (RpcException ex)
            {
                journal.Lines.Add("after " + ex.StatusCode);
                throw;
            }
        }
    }

    private sealed class TokenInterceptor : IServerInterceptor
    {
        public Task InterceptAsync(ServerCallContext context, ServerCallContinuation next) =>
            context.RequestHeaders.GetValue("x-token") == "let-me-in"
                ? next(context)
                : throw new RpcException(StatusCode.Unauthenticated, "token required");
    }

    private sealed class IncompleteService
    {
        public Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(request);

        public Task<SimpleResponse> UnaryCall(Empty request, ServerCallContext context) => Task.FromResult(new SimpleResponse());

        public Task Extra(Empty request, ServerCallContext context) => Task.CompletedTask;
    }
}
