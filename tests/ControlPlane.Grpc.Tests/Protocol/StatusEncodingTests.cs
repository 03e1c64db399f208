using ControlPlane.Grpc.Protocol;
using Google.Rpc;

namespace ControlPlane.Grpc.Tests.Protocol;

public sealed class StatusEncodingTests
{
    [Fact]
    public void Status_WithDetails_RoundTripsThroughHeaders()
    {
        var status = new Status(StatusCode.InvalidArgument, "bad port ☹",
            new ErrorInfo { Type = "policy_invalid", Domain = "controlplane" },
            new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = "port", Description = "must be 1-65535" } } });
        var headers = new Dictionary<string, string>();
        MetadataEncoding.WriteStatus(status, (k, v) => headers[k] = v);

        Assert.Equal("3", headers["grpc-status"]);
        Assert.Equal("bad port %E2%98%B9", headers["grpc-message"]);
        Assert.DoesNotContain('=', headers["grpc-status-details-bin"]);

        var read = MetadataEncoding.ReadStatus(headers["grpc-status"], headers["grpc-message"], headers["grpc-status-details-bin"])!.Value;
        Assert.Equal(StatusCode.InvalidArgument, read.StatusCode);
        Assert.Equal("bad port ☹", read.Detail);
        Assert.Equal("policy_invalid", read.GetDetail<ErrorInfo>()!.Type);
        Assert.Equal("port", read.GetDetail<BadRequest>()!.FieldViolations[0].Field);
    }

    [Fact]
    public void OkStatus_HasNoMessageOrDetails()
    {
        var headers = new Dictionary<string, string>();
        MetadataEncoding.WriteStatus(Status.DefaultSuccess, (k, v) => headers[k] = v);
        Assert.Equal(["grpc-status"], headers.Keys);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1")]
    public void MissingOrMalformedStatus_IsNull(string? value) => Assert.Null(MetadataEncoding.ReadStatus(value, null, null));

    [Fact]
    public void UndecodableDetails_AreDropped_NotFatal()
    {
        var read = MetadataEncoding.ReadStatus("5", "gone", "@@not base64@@")!.Value;
        Assert.Equal(StatusCode.NotFound, read.StatusCode);
        Assert.Null(read.Details);
    }
}
