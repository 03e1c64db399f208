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
        var context = NewContext();
        context.HttpContext.Request.Headers["x-platform-token"] = new Microsoft.Extensions.Primitives.StringValues(["s3cret", second]);
        context.RequestHeaders.Add("x-platform-token", "s3cret");

        Assert.Equal(TokenPresence.Several, PresentedToken.Read(context, "x-platform-token", out var value));
        Assert.Null(value);
    }

    [Fact]
    public void OneValue_IsOne()
    {
        var context = NewContext();
        context.HttpContext.Request.Headers["x-platform-token"] = "s3cret";
        context.RequestHeaders.Add("x-platform-token", "s3cret");

        Assert.Equal(TokenPresence.One, PresentedToken.Read(context, "x-platform-token", out var value));
        Assert.Equal("s3cret", value);
    }

    private static InProcessCallContext NewContext() => new(Api.V1.PolicyReflection.Descriptor.Services[0].FindMethodByName("SetPolicy"));
}
