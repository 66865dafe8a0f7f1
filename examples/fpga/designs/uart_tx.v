// A UART transmitter: 8 data bits, no parity, one stop bit, a fixed baud divider.
module uart_tx #(parameter DIV = 868) (
    input  wire       clk,
    input  wire       rst,
    input  wire       start,
    input  wire [7:0] data,
    output reg        tx,
    output wire       busy
);
    reg [9:0]  shift;
    reg [3:0]  bits;
    reg [15:0] tick;
    assign busy = bits != 4'd0;
    always @(posedge clk) begin
        if (rst) begin
            tx <= 1'b1; bits <= 4'd0; tick <= 16'd0; shift <= 10'h3ff;
        end else if (!busy) begin
            tx <= 1'b1;
            if (start) begin
                shift <= {1'b1, data, 1'b0};
                bits <= 4'd10;
                tick <= 16'd0;
            end
        end else if (tick == DIV - 1) begin
            tick <= 16'd0;
            tx <= shift[0];
            shift <= {1'b1, shift[9:1]};
            bits <= bits - 4'd1;
        end else begin
            tick <= tick + 16'd1;
        end
    end
endmodule
