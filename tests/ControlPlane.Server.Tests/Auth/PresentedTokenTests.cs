using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Auth;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Server.Tests.Auth;

/// <summary>How a call presented its token, read from the raw request headers as well as the metadata.</summary>
public sealed class PresentedTokenTests
{
    [Theory]
    [InlineData("caf\u00e9")]
    [InlineData("a\tb")]
    [InlineData("a\u0001b")]
    public void ASecondValueThatMetadataLeavesOut_StillMakesTwo(string second)
    {
        // Metadata drops a value that is not printable ASCII: read from it alone, one token would show.
        var context = new Context();
        context.HttpContext.Request.Headers["x-platform-token"] = new Microsoft.Extensions.Primitives.StringValues(["s3cret", second]);
        context.RequestHeaders.Add("x-platform-token", "s3cret");

        Assert.Equal(TokenPresence.Several, PresentedToken.Read(context, "x-platform-token", out var value));
        Assert.Null(value);
    }

    [Fact]
    public void OneValue_IsOne()
    {
        var context = new Context();
        context.HttpContext.Request.Headers["x-platform-token"] = "s3cret";
        context.RequestHeaders.Add("x-platform-token", "s3cret");

        Assert.Equal(TokenPresence.One, PresentedToken.Read(context, "x-platform-token", out var value));
        Assert.Equal("s3cret", value);
    }

    private sealed class Context : ServerCallContext
    {
        private readonly DefaultHttpContext _http = new();

        public override MethodDescriptor Method => Api.V1.PolicyReflection.Descriptor.Services[0].FindMethodByName("SetPolicy");

        public override string MethodPath => "/controlplane.v1.PolicyService/SetPolicy";

        public override string Peer => "test";

        public override DateTime Deadline => DateTime.MaxValue;

        public override CancellationToken CancellationToken => CancellationToken.None;

        public override Metadata RequestHeaders { get; } = [];

        public override Metadata ResponseTrailers { get; } = [];

        public override string? RequestEncoding => null;

        public override string? ResponseCompression { get; set; }

        public override Status Status { get; set; } = Status.DefaultSuccess;

        public override HttpContext HttpContext => _http;

        public override IDictionary<object, object?> UserState { get; } = new Dictionary<object, object?>();

        public override Task WriteResponseHeadersAsync(Metadata responseHeaders) => Task.CompletedTask;
    }
}
