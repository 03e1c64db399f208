using Google.Protobuf;
using ControlPlane.Grpc.Client;
using ControlPlane.Interop.V1;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class DeadlineAndCancellationTests
{
    [Fact]
    public async Task Deadline_EndsTheCallWithDeadlineExceeded_AndCancelsTheHandler()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();
        // The connection is open before the deadline runs, so the call reaches the handler well within it
        // even on a loaded machine (a call cut off before it was sent has no handler to cancel).
        hooks.Unary = (_, _) => Task.FromResult(new SimpleResponse());
        await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest(), new CallOptions()).ResponseAsync.DefaultTimeout();
        hooks.Unary = async (_, ctx) =>
        {
            await hooks.WaitForCancellationAsync(ctx);
            return new SimpleResponse();
        };
        var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest(), new CallOptions { Timeout = TimeSpan.FromMilliseconds(500) });
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        await hooks.Cancelled.Task.DefaultTimeout();
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ServerEnforcesTheDeadline_EvenWhenTheHandlerIgnoresCancellation()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        var release = new TaskCompletionSource<SimpleResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        hooks.Unary = (_, _) => release.Task; // never looks at its token
        using var http = RawHttp2.CreateClient();
        var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()), ("grpc-timeout", "100m"));
        var body = await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        Assert.Empty(body);
        Assert.Equal("4", RawHttp2.GrpcStatus(response));
        release.SetResult(new SimpleResponse());
    }

    [Theory]
    [InlineData(false)] // the handler writes with the call's token
    [InlineData(true)]  // with a token of its own that nothing cancels (a discovery stream's writer never cancels a write in progress)
    public async Task ADeadlinePassingWhileFlowControlHoldsAWrite_ResetsTheStreamWithCancel(bool ownToken)
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        var handlerEnded = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        hooks.ServerStreaming = async (_, stream, _) =>
        {
            using var own = new CancellationTokenSource();
            var message = new StreamingOutputCallResponse { Payload = new Payload { Body = ByteString.CopyFrom(new byte[64 * 1024]) } };
            try
            {
                while (true)
                {
                    await stream.WriteAsync(message, ownToken ? own.Token : CancellationToken.None);
                }
            }
            catch (Exception ex)
            {
                handlerEnded.TrySetResult(ex);
                throw;
            }
        };
        using var http = RawHttp2.CreateClient();

        // The client reads nothing: its stream window (64 KB) fills, and the server's write waits for room that never comes.
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/StreamingOutputCall",
            RawHttp2.Frame(new StreamingOutputCallRequest()), ("grpc-timeout", "300m"));

        // Past the deadline and the status's grace the stream is reset with CANCEL (not INTERNAL_ERROR, not held open), and the write fails.
        Assert.NotNull(await handlerEnded.Task.DefaultTimeout());
        await using var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        var reset = await Assert.ThrowsAsync<HttpProtocolException>(async () =>
        {
            var buffer = new byte[256 * 1024];
            while (await body.ReadAsync(buffer).DefaultTimeout() > 0)
            {
            }
        });
        Assert.Equal(0x8, reset.ErrorCode);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData("123456789S")] // nine digits
    [InlineData("10s")]        // no such unit
    [InlineData("")]           // sent, but empty
    public async Task AMalformedTimeout_IsInternal_NotACallWithoutDeadline(string timeout)
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()), ("grpc-timeout", timeout));
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();

        Assert.Equal("13", RawHttp2.GrpcStatus(response));
        Assert.Contains("grpc-timeout", RawHttp2.Header(response.Headers, "grpc-message") ?? "", StringComparison.Ordinal);
        Assert.Equal(0, hooks.UnaryCalls);
    }

    [Theory]
    [InlineData("1194H")]      // just past what a timer can wait
    [InlineData("99999999H")]  // the largest the header can say: past DateTime's range too
    public async Task ATimeoutLongerThanATimerCanWait_IsNoDeadline_AndTheCallRuns(string timeout)
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        DateTime? deadline = null;
        hooks.Unary = (_, ctx) =>
        {
            deadline = ctx.Deadline;
            return Task.FromResult(new SimpleResponse());
        };
        using var http = RawHttp2.CreateClient();
        var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()), ("grpc-timeout", timeout));
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();

        Assert.Equal("0", RawHttp2.GrpcStatus(response));
        Assert.Equal(DateTime.MaxValue, deadline);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AHandlerCancellingItsOwnRead_GetsOperationCanceled_AndTheStreamStillDeliversEveryMessage()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        var readCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hooks.Duplex = async (requests, responses, context) =>
        {
            // A read waiting on the handler's own token (as a long-lived stream's loop does) is cancelled by it alone.
            using (var own = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken))
            {
                var read = requests.MoveNext(own.Token);
                await own.CancelAsync();
                var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
                Assert.Equal(own.Token, ex.CancellationToken);
                Assert.False(context.CancellationToken.IsCancellationRequested);
            }
            readCancelled.SetResult();
            // The call goes on: later reads, with other tokens, get every message, none lost and none cancelled.
            using var other = new CancellationTokenSource();
            while (await requests.MoveNext(other.Token))
            {
                await responses.WriteAsync(new StreamingOutputCallResponse { Payload = requests.Current.Payload });
            }
        };
        using var channel = server.CreateChannel();
        var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall, new CallOptions());
        await readCancelled.Task.DefaultTimeout();
        for (var i = 1; i <= 3; i++)
        {
            await call.RequestStream.WriteAsync(new StreamingOutputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[i]) } }).DefaultTimeout();
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        var sizes = new List<int>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            sizes.Add(call.ResponseStream.Current.Payload.Body.Length);
        }
        Assert.Equal([1, 2, 3], sizes);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ClientCancellation_CancelsTheHandler_AndTheCallEndsCancelled()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();
        using var cts = new CancellationTokenSource();
        var call = channel.AsyncClientStreamingCall(InteropMethods.StreamingInputCall, new CallOptions(cancellationToken: cts.Token));
        await call.RequestStream.WriteAsync(new StreamingInputCallRequest()).DefaultTimeout();
        await hooks.Started.Task.DefaultTimeout();
        cts.Cancel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await hooks.Cancelled.Task.DefaultTimeout();
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AHandlerWritingWhenTheClientLeaves_SeesCancellation_NotAnError()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();
        var ended = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        hooks.ServerStreaming = async (_, responses, _) =>
        {
            // Writes without looking at its token: the write itself must tell it the client has left,
            // whether Kestrel fails the flush first or sets RequestAborted first.
            var big = new StreamingOutputCallResponse { Payload = new Payload { Body = ByteString.CopyFrom(new byte[64 * 1024]) } };
            try
            {
                while (true)
                {
                    await responses.WriteAsync(big);
                }
            }
            catch (Exception ex)
            {
                ended.TrySetResult(ex);
                throw;
            }
        };
        var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, new StreamingOutputCallRequest(), new CallOptions());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        call.Dispose();

        Assert.IsAssignableFrom<OperationCanceledException>(await ended.Task.DefaultTimeout());
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task DisposingACall_AfterTheFirstResponse_CancelsTheHandler()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();
        var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        await call.RequestStream.WriteAsync(new StreamingOutputCallRequest { Payload = new Payload() }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        call.Dispose();
        await hooks.Cancelled.Task.DefaultTimeout();
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task ConnectionLoss_CancelsTheHandler_AndTheClientSeesUnavailable()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        var sockets = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.Socket>();
        var handler = GrpcChannel.CreateHandler(new GrpcChannelOptions());
        handler.ConnectCallback = async (context, token) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(context.DnsEndPoint, token);
            sockets.Add(socket);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        };
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpHandler = true });
        var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        await call.RequestStream.WriteAsync(new StreamingOutputCallRequest()).DefaultTimeout();
        await hooks.Started.Task.DefaultTimeout();

        foreach (var socket in sockets)
        {
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
            socket.Close();
        }

        await hooks.Cancelled.Task.DefaultTimeout();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
            {
            }
        });
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task DisposingTheChannel_CancelsItsActiveCalls()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        var channel = server.CreateChannel();
        var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        await call.RequestStream.WriteAsync(new StreamingOutputCallRequest()).DefaultTimeout();
        await hooks.Started.Task.DefaultTimeout();
        Assert.Equal(1, channel.ActiveCallCount);
        channel.Dispose();
        await hooks.Cancelled.Task.DefaultTimeout();
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        Assert.Equal(0, channel.ActiveCallCount);
        Assert.Throws<ObjectDisposedException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()));
    }

    [Fact]
    public async Task AlreadyExpiredDeadline_FailsWithoutSending()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();
        var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(-1)));
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.False(hooks.Started.Task.IsCompleted);
    }
}
