using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Server.Metrics;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Tests.Server.Metrics;

public sealed class RpcOutcomeTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void NormalReturn_IsTheContextStatus()
    {
        Assert.Equal(StatusCode.OK, RpcOutcome.Of(new FakeContext(), null, Clock()));
        Assert.Equal(StatusCode.FailedPrecondition, RpcOutcome.Of(new FakeContext { Status = new Status(StatusCode.FailedPrecondition, "") }, null, Clock()));
    }

    [Fact]
    public void ANormalReturnAfterTheClientLeft_IsCancelled_ForNoStatusReachedIt()
    {
        // A watch whose handler ends on its token once the client reset the stream.
        Assert.Equal(StatusCode.Cancelled, RpcOutcome.Of(new FakeContext(cancelled: true), null, Clock()));
    }

    [Fact]
    public void RpcException_IsItsCode_OtherExceptionsAreUnknown_OrCancelledWhenTheClientLeft()
    {
        Assert.Equal(StatusCode.NotFound, RpcOutcome.Of(new FakeContext(), new RpcException(StatusCode.NotFound, "no"), Clock()));
        Assert.Equal(StatusCode.Unknown, RpcOutcome.Of(new FakeContext(), new InvalidOperationException(), Clock()));
        Assert.Equal(StatusCode.Unknown, RpcOutcome.Of(new FakeContext(), new OperationCanceledException(), Clock()));
        Assert.Equal(StatusCode.Cancelled, RpcOutcome.Of(new FakeContext(cancelled: true), new OperationCanceledException(), Clock()));
        Assert.Equal(StatusCode.Cancelled, RpcOutcome.Of(new FakeContext(cancelled: true), new IOException("reset"), Clock()));
        Assert.Equal(StatusCode.PermissionDenied, RpcOutcome.Of(new FakeContext(cancelled: true), new RpcException(StatusCode.PermissionDenied, "no"), Clock()));
    }

    [Fact]
    public void ACancelledCallPastItsDeadline_IsDeadlineExceeded_WhateverTheHandlerThrew()
    {
        var deadline = Now.AddSeconds(-1);
        Assert.Equal(StatusCode.DeadlineExceeded, RpcOutcome.Of(new FakeContext(cancelled: true, deadline), new OperationCanceledException(), Clock()));
        Assert.Equal(StatusCode.DeadlineExceeded, RpcOutcome.Of(new FakeContext(cancelled: true, deadline), new RpcException(StatusCode.Cancelled, ""), Clock()));
        Assert.Equal(StatusCode.DeadlineExceeded, RpcOutcome.Of(new FakeContext(cancelled: true, deadline), null, Clock()));
        // Within the timer margin before the deadline, too; well before it, the client cancelled.
        Assert.Equal(StatusCode.DeadlineExceeded, RpcOutcome.Of(new FakeContext(cancelled: true, Now.AddMilliseconds(5)), new OperationCanceledException(), Clock()));
        Assert.Equal(StatusCode.Cancelled, RpcOutcome.Of(new FakeContext(cancelled: true, Now.AddSeconds(5)), new OperationCanceledException(), Clock()));
        // A deadline that passed on a call nobody cancelled changes nothing.
        Assert.Equal(StatusCode.OK, RpcOutcome.Of(new FakeContext(cancelled: false, deadline), null, Clock()));
    }

    [Theory]
    [InlineData(StatusCode.OK, "OK")]
    [InlineData(StatusCode.Cancelled, "CANCELLED")]
    [InlineData(StatusCode.DeadlineExceeded, "DEADLINE_EXCEEDED")]
    [InlineData(StatusCode.NotFound, "NOT_FOUND")]
    [InlineData(StatusCode.ResourceExhausted, "RESOURCE_EXHAUSTED")]
    [InlineData(StatusCode.Unauthenticated, "UNAUTHENTICATED")]
    [InlineData((StatusCode)42, "UNKNOWN")]
    public void CodeNames_AreTheCanonicalOnes(StatusCode code, string name)
    {
        Assert.Equal(name, RpcOutcome.Name(code));
    }

    private static ManualTimeProvider Clock() => new(new DateTimeOffset(Now));

    private sealed class FakeContext(bool cancelled = false, DateTime? deadline = null) : ServerCallContext
    {
        public override MethodDescriptor Method => InteropMethods.TestService.Methods[0];

        public override string MethodPath => "/interop.v1.TestService/EmptyCall";

        public override string Peer => "ipv4:127.0.0.1:1";

        public override DateTime Deadline { get; } = deadline ?? DateTime.MaxValue;

        public override CancellationToken CancellationToken { get; } = new(cancelled);

        public override Metadata RequestHeaders { get; } = [];

        public override Metadata ResponseTrailers { get; } = [];

        public override string? RequestEncoding => null;

        public override string? ResponseCompression { get; set; }

        public override Status Status { get; set; } = Status.DefaultSuccess;

        public override HttpContext HttpContext { get; } = new DefaultHttpContext();

        public override IDictionary<object, object?> UserState { get; } = new Dictionary<object, object?>();

        public override Task WriteResponseHeadersAsync(Metadata responseHeaders) => Task.CompletedTask;
    }
}
