using System.Net;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>Non-OK statuses as REST errors: the mapped HTTP status and a google.rpc.Status JSON body.</summary>
public sealed class ErrorMappingTests
{
    [Theory]
    [InlineData(StatusCode.Cancelled, 499, "cancelled")]
    [InlineData(StatusCode.Unknown, 500, "unknown")]
    [InlineData(StatusCode.InvalidArgument, 400, "invalid_argument")]
    [InlineData(StatusCode.DeadlineExceeded, 504, "deadline_exceeded")]
    [InlineData(StatusCode.NotFound, 404, "not_found")]
    [InlineData(StatusCode.AlreadyExists, 409, "already_exists")]
    [InlineData(StatusCode.PermissionDenied, 403, "unauthorized")]
    [InlineData(StatusCode.ResourceExhausted, 429, "resource_exhausted")]
    [InlineData(StatusCode.FailedPrecondition, 400, "failed_precondition")]
    [InlineData(StatusCode.Aborted, 409, "aborted")]
    [InlineData(StatusCode.OutOfRange, 400, "out_of_range")]
    [InlineData(StatusCode.Unimplemented, 501, "unimplemented")]
    [InlineData(StatusCode.Internal, 500, "internal")]
    [InlineData(StatusCode.Unavailable, 503, "not_ready")]
    [InlineData(StatusCode.DataLoss, 500, "data_loss")]
    [InlineData(StatusCode.Unauthenticated, 401, "unauthorized")]
    public async Task StatusCode_MapsToItsHttpStatus_WithADerivedReason(StatusCode code, int httpStatus, string reason)
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/fail", $$"""{"code": {{(int)code}}, "message": "it failed «here»"}""")).JsonAsync((HttpStatusCode)httpStatus);
        Assert.Equal((int)code, (int)error["code"]!);
        Assert.Equal("it failed «here»", (string?)error["message"]);
        var info = Assert.Single(error["details"]!.AsArray());
        Assert.Equal(
            $$$"""{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"{{{reason}}}","domain":"controlplane.v1","metadata":{}}""",
            info!.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ErrorInfo_OfTheHandler_IsRenderedWithReasonAndMetadata()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/fail", """{"code": 5, "reason": "policy_invalid", "message": "no policy"}""")).JsonAsync(HttpStatusCode.NotFound);
        Assert.Equal(
            """{"code":5,"message":"no policy","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"policy_invalid","domain":"controlplane.v1","metadata":{"image":"img.video.svc"}}]}""",
            error.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BadRequest_ViolationsOfTheHandler_AreAllInTheDetails_TheMessageListing20AndCountingTheRest()
    {
        await using var rest = await RestTestServer.StartAsync();
        var json = $$"""{"code": 3, "reason": "policy_invalid", "violations": [{{string.Join(", ", Enumerable.Range(0, 25).Select(i => $"\"w{i}=bad\""))}}]}""";
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/fail", json)).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"w{i}"), error.Violations().Select(v => v.Field));
        var message = (string)error["message"]!;
        Assert.StartsWith("25 invalid fields, the first 20: w0: bad; w1: bad;", message, StringComparison.Ordinal);
        Assert.EndsWith("w19: bad; and 5 more", message, StringComparison.Ordinal);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BadRequest_ViolationsOfTheHandler_AreRendered()
    {
        await using var rest = await RestTestServer.StartAsync();
        var json = """{"code": 3, "reason": "policy_invalid", "violations": ["weights.a=must be positive", "algorithm=unknown"]}""";
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/fail", json)).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("policy_invalid", error.Reason());
        Assert.Equal([("weights.a", "must be positive"), ("algorithm", "unknown")], error.Violations());
        Assert.Equal(
            """{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"weights.a","description":"must be positive"},{"field":"algorithm","description":"unknown"}]}""",
            error["details"]![1]!.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task HandlerException_Is500_WithoutItsText_AndLoggedLikeGrpc()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/fail", """{"crash": true}""")).JsonAsync(HttpStatusCode.InternalServerError);
        Assert.Equal(2, (int)error["code"]!);
        Assert.Equal("Exception was thrown by handler.", (string?)error["message"]);
        Assert.DoesNotContain("secret", error.ToJsonString(), StringComparison.Ordinal);
        var logged = Assert.Single(rest.Server.Logs.Errors);
        Assert.Equal("ControlPlane.Grpc.Server", logged.Category);
        Assert.Equal("Error when executing service method '/transcoding.v1.TranscodingTestService/Fail'.", logged.Message);
        Assert.IsType<InvalidOperationException>(logged.Exception);
    }

    [Fact]
    public async Task DetailedErrors_PutTheExceptionInTheMessage()
    {
        await using var rest = await RestTestServer.StartAsync(grpc: o => o.EnableDetailedErrors = true);
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/fail", """{"crash": true}""")).JsonAsync(HttpStatusCode.InternalServerError);
        Assert.Equal("Exception was thrown by handler. InvalidOperationException: secret connection string", (string?)error["message"]);
        rest.Server.AssertNoUnexpectedErrors(r => r.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task StatusSetByTheHandler_IsAnsweredInsteadOfItsResponse()
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.Echo = (request, context) =>
        {
            context.Status = RpcErrors.Status(StatusCode.FailedPrecondition, "draining", "instance is draining");
            context.ResponseTrailers.Add("x-retry-after", "5");
            return Task.FromResult(request);
        };
        using var response = await rest.GetAsync("/v1/items/x");
        var error = await response.JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("draining", error.Reason());
        Assert.Equal("5", response.Headers.GetValues("x-retry-after").Single());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task RpcExceptionTrailers_BecomeHeadersOfTheErrorResponse()
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.Echo = (_, _) => throw new RpcException(new Status(StatusCode.Unavailable, "warming up"), new Metadata().Add("retry-after", "3"));
        using var response = await rest.GetAsync("/v1/items/x");
        var error = await response.JsonAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("not_ready", error.Reason());
        Assert.Equal("3", response.Headers.GetValues("retry-after").Single());
        rest.Server.AssertNoUnexpectedErrors();
    }
}
